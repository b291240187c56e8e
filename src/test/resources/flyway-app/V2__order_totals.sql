-- The application's own second migration: versions 1 and 2 exist in both histories, kept apart.
ALTER TABLE orders ADD COLUMN total NUMERIC(12, 2) NOT NULL DEFAULT 0;
