"""The run layer: what one ``ndpmon`` run is, from options to the live loop.

It builds the engine, the outputs and the plugins from the options and the config,
feeds frames from capture or replay through the pipeline, saves the cache, obeys
signals, drops privileges and detaches.
"""
