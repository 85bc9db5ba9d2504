-- The organisation's signed fix recipes (docs/recipes.md). The hub keeps
-- each recipe's newest signed document as it was uploaded and the device
-- groups it is published to; it holds no signing key and cannot make or
-- change a document. Key changes (signed by the key they replace) are kept
-- to hand to devices that still pin an older key.
CREATE TABLE recipes (
    id          TEXT PRIMARY KEY,
    version     BIGINT NOT NULL,
    signer      TEXT NOT NULL,
    title       TEXT NOT NULL,
    tier        INTEGER NOT NULL,
    doc         TEXT NOT NULL,
    groups_json TEXT NOT NULL,
    added_by    TEXT NOT NULL,
    added_at    BIGINT NOT NULL
);
CREATE TABLE recipe_key_changes (
    serial   BIGINT PRIMARY KEY,
    doc      TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at BIGINT NOT NULL
);
-- What each device's agent made of the recipes it was sent: the key it
-- pins, the recipes it accepted and those it refused with the reason.
CREATE TABLE device_recipe_status (
    device_id   TEXT PRIMARY KEY,
    signer      TEXT NOT NULL,
    status_json TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
