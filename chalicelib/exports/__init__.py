"""Exports of a dataset's record in other standards' formats (DataCite, schema.org, DCAT,
RO-Crate, PREMIS): each a pure function of an :class:`~chalicelib.exports.view.ExportView`,
what one caller may see of one entry; the registry of formats in :mod:`chalicelib.exports.formats`."""
