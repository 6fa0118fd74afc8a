"""Pages for connections and integration pairs."""
