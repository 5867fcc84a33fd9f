-- Schema version 4: customer search behind fenced functions.
--
-- Under row-level security PostgreSQL must apply the tenant policy before any
-- non-leakproof condition, and LIKE is not leakproof, so the pg_trgm index on
-- customer_search.doc could not be used (120 ms per search at 1M customers). The search
-- table now has no policy; instead the store's role has no privilege on it at all and
-- reaches it only through these SECURITY DEFINER functions, each fenced by the same
-- transaction-local app.tenant_id setting as every policy.

DROP POLICY tenant_isolation ON customer_search;
ALTER TABLE customer_search NO FORCE ROW LEVEL SECURITY;
ALTER TABLE customer_search DISABLE ROW LEVEL SECURITY;
REVOKE ALL ON customer_search FROM crm_tenant;

CREATE FUNCTION crm_fence_tenant() RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid
$$;

CREATE FUNCTION crm_search_upsert(customers uuid[], docs text[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT AS $$
    INSERT INTO customer_search (tenant_id, customer_id, doc)
    SELECT crm_fence_tenant(), c, d FROM unnest(customers, docs) AS u(c, d)
    WHERE crm_fence_tenant() IS NOT NULL
    ON CONFLICT (tenant_id, customer_id) DO UPDATE SET doc = excluded.doc
$$;

CREATE FUNCTION crm_search_delete(customers uuid[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT AS $$
    DELETE FROM customer_search
    WHERE tenant_id = crm_fence_tenant() AND customer_id = ANY (customers)
$$;

-- Customers of the fenced tenant whose document matches every LIKE pattern of `patterns`
-- (patterns escaped by the caller, separated by chr(31)).
CREATE FUNCTION crm_search(patterns text) RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT customer_id FROM customer_search
    WHERE tenant_id = crm_fence_tenant() AND doc LIKE ALL (string_to_array(patterns, chr(31)))
$$;

REVOKE ALL ON FUNCTION crm_search_upsert(uuid[], text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION crm_search_delete(uuid[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION crm_search(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm_fence_tenant() TO crm_tenant;
GRANT EXECUTE ON FUNCTION crm_search_upsert(uuid[], text[]) TO crm_tenant;
GRANT EXECUTE ON FUNCTION crm_search_delete(uuid[]) TO crm_tenant;
GRANT EXECUTE ON FUNCTION crm_search(text) TO crm_tenant;
