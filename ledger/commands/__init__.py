"""Commands of the Ledger, one mixin per area; each is get → decide → save."""
