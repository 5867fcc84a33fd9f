-- Schema version 5: crm_search lets the pg_trgm index answer the most selective pattern
-- (`LIKE ALL (array)` cannot use the index; `doc LIKE <longest pattern>` can) and checks
-- the other patterns on the hits.

CREATE OR REPLACE FUNCTION crm_search(patterns text) RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    arr text[] := string_to_array(patterns, chr(31));
    longest text;
BEGIN
    IF coalesce(array_length(arr, 1), 0) = 0 THEN
        RETURN QUERY SELECT s.customer_id FROM customer_search s WHERE s.tenant_id = crm_fence_tenant();
        RETURN;
    END IF;
    SELECT p INTO longest FROM unnest(arr) AS p ORDER BY length(p) DESC LIMIT 1;
    RETURN QUERY
        SELECT s.customer_id FROM customer_search s
        WHERE s.tenant_id = crm_fence_tenant() AND s.doc LIKE longest AND s.doc LIKE ALL (arr);
END
$$;
