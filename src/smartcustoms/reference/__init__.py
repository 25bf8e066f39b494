"""Reference data: HS nomenclature, countries, currencies, units, Incoterms, offices, ports, rates."""
