-- Tenant policy versions are append-only (docs/policies.md): a change is a new version, never an
-- edit of an old one, so the policy that decided a past request can always be rebuilt.
CREATE FUNCTION hallmark_policy_versions_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'tenant_policy_versions is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER tenant_policy_versions_append_only BEFORE UPDATE OR DELETE ON tenant_policy_versions
  FOR EACH ROW EXECUTE FUNCTION hallmark_policy_versions_refuse();
--> statement-breakpoint
CREATE TRIGGER tenant_policy_versions_no_truncate BEFORE TRUNCATE ON tenant_policy_versions
  FOR EACH STATEMENT EXECUTE FUNCTION hallmark_policy_versions_refuse();
