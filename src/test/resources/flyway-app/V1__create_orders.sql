-- The application's own first migration, in the tests that show FlowMonkey beside an application's Flyway.
CREATE TABLE orders (id TEXT PRIMARY KEY, customer TEXT NOT NULL);
