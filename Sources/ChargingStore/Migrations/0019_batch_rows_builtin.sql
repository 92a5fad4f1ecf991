-- batch_rows (migration 0008) as the built-in jsonb_array_elements itself, still declared ROWS 4. As a
-- SQL function that is not inlined, PostgreSQL parsed and planned its body again in every statement
-- that called it: every batch of readings, reports and claims, and each engine step's write (four
-- calls), 30-40 µs a call. LANGUAGE internal needs a superuser (the embedded server's role and the
-- compose file's); under another role the SQL version stays, and everything works as before.
DO $$
BEGIN
    CREATE OR REPLACE FUNCTION batch_rows(batch jsonb) RETURNS SETOF jsonb
        LANGUAGE internal IMMUTABLE STRICT ROWS 4 AS 'jsonb_array_elements';
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'batch_rows stays a SQL function: only a superuser may declare it LANGUAGE internal';
END
$$;
