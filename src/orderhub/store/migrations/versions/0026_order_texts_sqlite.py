"""SQLite keeps each order's JSON text beside it, for the lists of full orders
(store/texts.py, docs/performance.md "Read API"): a table `order_texts` (id, head, tail) written
by triggers on `orders`, and filled here with the orders already stored. Writing the texts in
the list's SQL was most of a page's SQL time. PostgreSQL: nothing to do (its lists are encoded
in Python).

The rendering's SQL is kept here as it was written (store/rendered.py of this revision, for a
trigger's row `new`); tests/test_order_texts.py checks it is what the code writes now."""

from alembic import op

revision = "0026"
down_revision = "0025"

#: A full order's scalars as a JSON object (`rendered.head_sql("new")`).
_HEAD = (
    "json_object('id', CASE WHEN typeof(new.id) = 'integer' THEN new.id WHEN new.id IS NOT NULL"
    " THEN char(1) END, 'channel', new.channel, 'channel_type', new.channel_type, "
    "'external_id', new.external_id, 'status', new.status, 'channel_status', "
    "new.channel_status, 'payment_status', new.payment_status, 'confirmed', CASE WHEN "
    "typeof(new.confirmed) = 'integer' THEN iif(new.confirmed, json('true'), json('false')) "
    "WHEN new.confirmed IS NOT NULL THEN char(1) END, 'test', CASE WHEN typeof(new.test) = "
    "'integer' THEN iif(new.test, json('true'), json('false')) WHEN new.test IS NOT NULL THEN "
    "char(1) END, 'created_at', CASE WHEN new.created_at GLOB "
    "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] "
    "[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]' THEN iif(new.created_at "
    "GLOB '*.000000', replace(substr(new.created_at, 1, 19), ' ', 'T') || 'Z', "
    "replace(new.created_at, ' ', 'T') || 'Z') WHEN new.created_at IS NOT NULL THEN char(1) "
    "END, 'updated_at', CASE WHEN new.updated_at GLOB "
    "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] "
    "[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]' THEN iif(new.updated_at "
    "GLOB '*.000000', replace(substr(new.updated_at, 1, 19), ' ', 'T') || 'Z', "
    "replace(new.updated_at, ' ', 'T') || 'Z') WHEN new.updated_at IS NOT NULL THEN char(1) "
    "END, 'ship_date', CASE WHEN new.ship_date GLOB "
    "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' THEN new.ship_date WHEN new.ship_date IS NOT "
    "NULL THEN char(1) END, 'delivered_at', CASE WHEN new.delivered_at GLOB "
    "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] "
    "[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]' THEN iif(new.delivered_at"
    " GLOB '*.000000', replace(substr(new.delivered_at, 1, 19), ' ', 'T') || 'Z', "
    "replace(new.delivered_at, ' ', 'T') || 'Z') WHEN new.delivered_at IS NOT NULL THEN char(1)"
    " END, 'customer_id', CASE WHEN typeof(new.customer_id) = 'integer' THEN new.customer_id "
    "WHEN new.customer_id IS NOT NULL THEN char(1) END, 'customer', new.customer, 'email', "
    "new.email, 'phone', new.phone, 'country', new.country, 'currency', new.currency, 'total', "
    "CASE WHEN typeof(new.total) = 'integer' AND new.total >= 0 AND new.total % 100 = 0 THEN "
    "json(printf('%d.%02d', new.total / 10000, new.total % 10000 / 100)) WHEN typeof(new.total)"
    " = 'integer' THEN json(CASE WHEN new.total < 0 THEN '-' ELSE '' END || abs(new.total / "
    "10000) || '.' || CASE length(rtrim(printf('%04d', abs(new.total % 10000)), '0')) WHEN 0 "
    "THEN '00' WHEN 1 THEN rtrim(printf('%04d', abs(new.total % 10000)), '0') || '0' ELSE "
    "rtrim(printf('%04d', abs(new.total % 10000)), '0') END) WHEN new.total IS NOT NULL THEN "
    "char(1) END, 'subtotal', CASE WHEN typeof(new.subtotal) = 'integer' AND new.subtotal >= 0 "
    "AND new.subtotal % 100 = 0 THEN json(printf('%d.%02d', new.subtotal / 10000, new.subtotal "
    "% 10000 / 100)) WHEN typeof(new.subtotal) = 'integer' THEN json(CASE WHEN new.subtotal < 0"
    " THEN '-' ELSE '' END || abs(new.subtotal / 10000) || '.' || CASE "
    "length(rtrim(printf('%04d', abs(new.subtotal % 10000)), '0')) WHEN 0 THEN '00' WHEN 1 THEN"
    " rtrim(printf('%04d', abs(new.subtotal % 10000)), '0') || '0' ELSE rtrim(printf('%04d', "
    "abs(new.subtotal % 10000)), '0') END) WHEN new.subtotal IS NOT NULL THEN char(1) END, "
    "'shipping_cost', CASE WHEN typeof(new.shipping_cost) = 'integer' AND new.shipping_cost >= "
    "0 AND new.shipping_cost % 100 = 0 THEN json(printf('%d.%02d', new.shipping_cost / 10000, "
    "new.shipping_cost % 10000 / 100)) WHEN typeof(new.shipping_cost) = 'integer' THEN "
    "json(CASE WHEN new.shipping_cost < 0 THEN '-' ELSE '' END || abs(new.shipping_cost / "
    "10000) || '.' || CASE length(rtrim(printf('%04d', abs(new.shipping_cost % 10000)), '0')) "
    "WHEN 0 THEN '00' WHEN 1 THEN rtrim(printf('%04d', abs(new.shipping_cost % 10000)), '0') ||"
    " '0' ELSE rtrim(printf('%04d', abs(new.shipping_cost % 10000)), '0') END) WHEN "
    "new.shipping_cost IS NOT NULL THEN char(1) END, 'discount', CASE WHEN typeof(new.discount)"
    " = 'integer' AND new.discount >= 0 AND new.discount % 100 = 0 THEN json(printf('%d.%02d', "
    "new.discount / 10000, new.discount % 10000 / 100)) WHEN typeof(new.discount) = 'integer' "
    "THEN json(CASE WHEN new.discount < 0 THEN '-' ELSE '' END || abs(new.discount / 10000) || "
    "'.' || CASE length(rtrim(printf('%04d', abs(new.discount % 10000)), '0')) WHEN 0 THEN '00'"
    " WHEN 1 THEN rtrim(printf('%04d', abs(new.discount % 10000)), '0') || '0' ELSE "
    "rtrim(printf('%04d', abs(new.discount % 10000)), '0') END) WHEN new.discount IS NOT NULL "
    "THEN char(1) END, 'tax_total', CASE WHEN typeof(new.tax_total) = 'integer' AND "
    "new.tax_total >= 0 AND new.tax_total % 100 = 0 THEN json(printf('%d.%02d', new.tax_total /"
    " 10000, new.tax_total % 10000 / 100)) WHEN typeof(new.tax_total) = 'integer' THEN "
    "json(CASE WHEN new.tax_total < 0 THEN '-' ELSE '' END || abs(new.tax_total / 10000) || '.'"
    " || CASE length(rtrim(printf('%04d', abs(new.tax_total % 10000)), '0')) WHEN 0 THEN '00' "
    "WHEN 1 THEN rtrim(printf('%04d', abs(new.tax_total % 10000)), '0') || '0' ELSE "
    "rtrim(printf('%04d', abs(new.tax_total % 10000)), '0') END) WHEN new.tax_total IS NOT NULL"
    " THEN char(1) END, 'cod', CASE WHEN typeof(new.cod) = 'integer' AND new.cod >= 0 AND "
    "new.cod % 100 = 0 THEN json(printf('%d.%02d', new.cod / 10000, new.cod % 10000 / 100)) "
    "WHEN typeof(new.cod) = 'integer' THEN json(CASE WHEN new.cod < 0 THEN '-' ELSE '' END || "
    "abs(new.cod / 10000) || '.' || CASE length(rtrim(printf('%04d', abs(new.cod % 10000)), "
    "'0')) WHEN 0 THEN '00' WHEN 1 THEN rtrim(printf('%04d', abs(new.cod % 10000)), '0') || '0'"
    " ELSE rtrim(printf('%04d', abs(new.cod % 10000)), '0') END) WHEN new.cod IS NOT NULL THEN "
    "char(1) END, 'payment_method', new.payment_method, 'tracking_number', new.tracking_number,"
    " 'tracking_url', new.tracking_url, 'carrier', new.carrier, 'vendor_ref', new.vendor_ref, "
    "'language', new.language, 'push_status', new.push_status, 'push_error', new.push_error)"
)
#: The rest of the order's object after the tags (`rendered.tail_sql("new")`).
_TAIL = (
    "',\"shipping_address\":' || coalesce(new.shipping_address, 'null') || ',\"billing_address\":' "
    "|| coalesce(new.billing_address, 'null') || ',\"lines\":' || coalesce(new.lines, 'null') || "
    "',\"status_history\":' || coalesce(new.status_history, 'null') || ',\"extra\":' || "
    "coalesce(new.extra, 'null') || '}'"
)
#: Columns whose change changes the text.
_RENDERED = (
    "id, channel, channel_type, external_id, status, channel_status, payment_status, confirmed,"
    " test, created_at, updated_at, ship_date, delivered_at, customer_id, customer, email, "
    "phone, country, currency, total, subtotal, shipping_cost, discount, tax_total, cod, "
    "payment_method, tracking_number, tracking_url, carrier, vendor_ref, language, push_status,"
    " push_error, shipping_address, billing_address, lines, status_history, extra"
)
_WRITE = (
    "DELETE FROM order_texts WHERE id = new.id;"
    f" INSERT INTO order_texts (id, head, tail) VALUES (new.id, {_HEAD}, {_TAIL});"
)
_UP = (
    "CREATE TABLE order_texts (id INTEGER PRIMARY KEY, head TEXT NOT NULL, tail TEXT NOT NULL)",
    "INSERT INTO order_texts (id, head, tail) SELECT id,"
    f" {_HEAD.replace('new.', 'orders.')}, {_TAIL.replace('new.', 'orders.')} FROM orders",
    f"CREATE TRIGGER order_texts_insert AFTER INSERT ON orders BEGIN {_WRITE} END",
    f"CREATE TRIGGER order_texts_update AFTER UPDATE OF {_RENDERED} ON orders BEGIN {_WRITE} END",
    "CREATE TRIGGER order_texts_delete AFTER DELETE ON orders BEGIN"
    " DELETE FROM order_texts WHERE id = old.id; END",
)
_DOWN = (
    "DROP TRIGGER order_texts_delete",
    "DROP TRIGGER order_texts_update",
    "DROP TRIGGER order_texts_insert",
    "DROP TABLE order_texts",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _DOWN:
            op.execute(statement)
