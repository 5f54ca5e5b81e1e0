"""pulsetrain.model: behavioral model of analog arrays, their periphery and the learning algorithms."""
