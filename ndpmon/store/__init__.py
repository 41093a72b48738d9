"""The PostgreSQL store: several ndpmon instances write what they see into one database.

NDPMon 2.x sent remote probes' events to a central instance over SOAP (COMPATIBILITY.md §6.7);
its libraries are gone. Sites that monitor many VLANs already run, replicate and back
up PostgreSQL, so that is the meeting point: each instance writes its neighbours,
routers and alerts under its own probe names (``host/eth0``), and a central instance
reads them (``ndpmon report``, ``ndpmon query``, ``ndpmon central``).

* ``url``: the ``<store>`` setting, credential rules, the connection;
* ``schema``: the tables and their versioned migrations;
* ``rows``: neighbours, routers and alerts as database rows (pure);
* ``writer``: the bounded queue and the worker thread that writes batches;
* ``sync``: the hooks that feed the writer from a running monitor;
* ``read``: the store's contents as ndpmon's own objects (report, query, central);
* ``central``: ``ndpmon central``, the alerts that need every probe's view.

psycopg (``pip install 'ndpmon[store]'``) is needed only when a store is configured.
"""
