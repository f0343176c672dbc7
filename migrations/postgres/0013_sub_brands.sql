-- Issuers may certify for a sub-brand (a city or county public brand under the brand): the
-- `issuers` projection keeps which, NULL for the brand's own issuers. Sub-brands and partner
-- brands themselves are few and live in the in-memory mark index, folded from the log.
ALTER TABLE projection_issuers ADD COLUMN sub_brand TEXT;
