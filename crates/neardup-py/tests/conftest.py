import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
