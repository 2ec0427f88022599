-- The versions of the stock and payment slot maps a transaction's prepares were routed by, logged
-- with its claim: a checkout that joins the transaction sends its prepares again only when it
-- routes by the same maps. Same participants are not enough: an item whose slot moved between two
-- of them would be asked of the other, which answers a repeated prepare from its record whatever
-- items it names, so the transaction could commit without that item reserved. Null for entries
-- logged before this column: a joining checkout then sends nothing and waits for the decision.
alter table transactions add column routed_by int[];
