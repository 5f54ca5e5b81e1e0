"""pulsetrain.synth: synthesis and timing flows with open tools, and the area / energy / latency estimator."""
