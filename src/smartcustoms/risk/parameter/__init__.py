"""The parameter library: risk rules as data, with maker-checker approval, versions and validity."""
