"""Pre-trade risk: the checks every order passes before it reaches the book
(`risk.gate.RiskGate`), configured by the ``[risk]`` tables (`risk.config`)."""
