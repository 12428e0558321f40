/**
 * @peculiar/x509 needs the Reflect metadata polyfill loaded before it (its tsyringe container
 * reads it at import time). Import x509 from here so that the order cannot be lost to import
 * sorting.
 */
import "reflect-metadata";

export * from "@peculiar/x509";
