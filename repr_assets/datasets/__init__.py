"""Which data sets there are: their specs and the built-in ones (``specs``), those declared
in YAML (``declared``), and the catalog that resolves a name to a spec with its stored run
options (``catalog``), for the command line, the code location and notebooks alike."""
