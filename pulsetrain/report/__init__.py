"""``pulsetrain report``: the default study end to end, as a terminal table and a self-contained HTML page."""
