"""The graph debugger: step a graph with breakpoints, replay and fork stored runs."""
