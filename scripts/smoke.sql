-- floe's smoke script: the SQL a Snowflake user runs first. Run by scripts/quickstart.sh.
CREATE OR REPLACE DATABASE floe_smoke;
USE SCHEMA floe_smoke.public;
CREATE OR REPLACE TABLE orders (id INT NOT NULL, customer STRING, amount NUMBER(10,2), placed DATE, meta VARIANT);
INSERT INTO orders (id, customer, amount, placed) VALUES (1, 'ada', 12.50, '2026-01-02'), (2, 'bob', 7.25, '2026-01-03'), (3, 'ada', 1.00, '2026-01-04');
INSERT INTO orders (id, customer, amount, placed, meta) SELECT 4, 'cy', 99.99, '2026-02-01', PARSE_JSON('{"channel": "web", "items": [1, 2]}');
UPDATE orders SET amount = amount * 2 WHERE customer = 'ada';
DELETE FROM orders WHERE id = 2;
MERGE INTO orders o USING (SELECT 4 AS id, 5.00 AS amount UNION ALL SELECT 5, 3.00) s ON o.id = s.id
  WHEN MATCHED THEN UPDATE SET amount = s.amount
  WHEN NOT MATCHED THEN INSERT (id, customer, amount) VALUES (s.id, 'dee', s.amount);
SELECT customer, COUNT(*) AS n, SUM(amount) AS total FROM orders GROUP BY customer ORDER BY customer;
SELECT id, meta:channel::STRING AS channel FROM orders WHERE meta IS NOT NULL;
CREATE OR REPLACE TABLE numbers AS SELECT SEQ4() AS n FROM TABLE(GENERATOR(ROWCOUNT => 100000));
SELECT COUNT(*), MAX(n) FROM numbers;
SHOW TABLES;
SELECT CURRENT_DATABASE(), CURRENT_SCHEMA(), CURRENT_USER(), CURRENT_ROLE();
DROP DATABASE floe_smoke;
