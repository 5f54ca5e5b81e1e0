"""pulsetrain.cosim: cocotb benches running the emitted Verilog against the behavioral model."""
