-- Append-only audit log (docs/audit-log.md §8). Ordinary UPDATE, DELETE and TRUNCATE are
-- refused on every log table. The one exception is retention: a payload row may be deleted
-- once a tombstone entry naming its index exists (appended in the same transaction by
-- `tombstone()`), so every removal is itself a signed-over entry of the log.
-- A superuser can still bypass triggers (session_replication_role = replica, DISABLE TRIGGER);
-- that is what `hallmark audit verify` and the signed checkpoints are for.
CREATE FUNCTION hallmark_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit log table % is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
CREATE FUNCTION hallmark_audit_payload_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (
    SELECT 1 FROM audit_log_entries
    WHERE kind = 'tombstone' AND redacts_index = OLD.index
  ) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit log payload % can only be removed after a tombstone entry names it', OLD.index
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER audit_log_entries_append_only BEFORE UPDATE OR DELETE ON audit_log_entries
  FOR EACH ROW EXECUTE FUNCTION hallmark_audit_refuse();
--> statement-breakpoint
CREATE TRIGGER audit_log_entries_no_truncate BEFORE TRUNCATE ON audit_log_entries
  FOR EACH STATEMENT EXECUTE FUNCTION hallmark_audit_refuse();
--> statement-breakpoint
CREATE TRIGGER audit_log_nodes_append_only BEFORE UPDATE OR DELETE ON audit_log_nodes
  FOR EACH ROW EXECUTE FUNCTION hallmark_audit_refuse();
--> statement-breakpoint
CREATE TRIGGER audit_log_nodes_no_truncate BEFORE TRUNCATE ON audit_log_nodes
  FOR EACH STATEMENT EXECUTE FUNCTION hallmark_audit_refuse();
--> statement-breakpoint
CREATE TRIGGER audit_log_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_log_checkpoints
  FOR EACH ROW EXECUTE FUNCTION hallmark_audit_refuse();
--> statement-breakpoint
CREATE TRIGGER audit_log_checkpoints_no_truncate BEFORE TRUNCATE ON audit_log_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION hallmark_audit_refuse();
--> statement-breakpoint
CREATE TRIGGER audit_log_payloads_no_update BEFORE UPDATE ON audit_log_payloads
  FOR EACH ROW EXECUTE FUNCTION hallmark_audit_refuse();
--> statement-breakpoint
CREATE TRIGGER audit_log_payloads_tombstoned_delete BEFORE DELETE ON audit_log_payloads
  FOR EACH ROW EXECUTE FUNCTION hallmark_audit_payload_delete();
--> statement-breakpoint
CREATE TRIGGER audit_log_payloads_no_truncate BEFORE TRUNCATE ON audit_log_payloads
  FOR EACH STATEMENT EXECUTE FUNCTION hallmark_audit_refuse();
--> statement-breakpoint
ALTER TABLE audit_log_entries ADD CONSTRAINT audit_log_entries_shape CHECK (
  index >= 0
  AND kind IN ('generation', 'decision', 'review', 'tombstone')
  AND octet_length(leaf_hash) = 32
  AND (kind = 'tombstone') = (redacts_index IS NOT NULL)
  AND (redacts_index IS NULL OR redacts_index < index)
);
--> statement-breakpoint
ALTER TABLE audit_log_nodes ADD CONSTRAINT audit_log_nodes_shape CHECK (
  level BETWEEN 8 AND 62 AND index >= 0 AND octet_length(hash) = 32
);
--> statement-breakpoint
ALTER TABLE audit_log_payloads ADD CONSTRAINT audit_log_payloads_shape CHECK (octet_length(salt) = 16);
--> statement-breakpoint
ALTER TABLE audit_log_checkpoints ADD CONSTRAINT audit_log_checkpoints_shape CHECK (
  size >= 0 AND octet_length(root_hash) = 32
);
