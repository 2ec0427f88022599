-- Which participant voted no, with its refusal: the checkout's reply names what was missing
-- (insufficient_stock or insufficient_credit, item_not_found or user_not_found). Null for entries
-- aborted otherwise (timeout) and for those logged before this column.
alter table transactions add column refused_by text;
