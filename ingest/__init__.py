"""Data coming in: parse the paper's files and a team's own, download upstream's, import them.

Above `store`: the parsers hand `store.importers.import_parsed` validated items to write.
"""
