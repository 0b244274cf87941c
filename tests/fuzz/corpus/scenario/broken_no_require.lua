return fw.scenario { name = "no-require" }
