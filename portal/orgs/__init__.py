"""Community social organisations, incubation and the indicators dashboard (issue 3)."""
