"""The load target: database schema, migrations, the bulk upsert loader and the upload ledger."""
