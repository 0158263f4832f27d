"""Settings modules of the servebench demo site: base, bench (default), debug, test."""
