"""BagIt bags (RFC 8493) arriving at ingest: where they are, how they are checked, what they register.

Every hostile or malformed bag raises :class:`~chalicelib.ingest.bags.errors.BagRefused`
(``reasons`` name the path and the rule); a folder bag still being uploaded raises
:class:`~chalicelib.ingest.bags.errors.BagIncomplete`.

Modules, from the S3 side in:

* :mod:`~chalicelib.ingest.bags.targets`: where a bag is in a bucket (:class:`BagTarget`,
  :func:`bag_target`, the archive suffixes and the ``bagit.txt`` marker);
* :mod:`~chalicelib.ingest.bags.s3_reader`: reading a bag from S3 (a serialized bag streamed
  to ``/tmp`` within the byte budget, a folder bag from its listing with streamed fixity);
* :mod:`~chalicelib.ingest.bags.registration`: an accepted bag as a catalogue registration;
* :mod:`~chalicelib.ingest.bags.serialized`: safe extraction of a zip, tar or tar.gz bag;
* :mod:`~chalicelib.ingest.bags.on_disk`: full validation of an extracted bag, bagit 1.9 included;
* :mod:`~chalicelib.ingest.bags.listing`: the whole-bag checks decided from a file listing and
  the tag files (folder bags directly, extracted bags through ``on_disk``), and streamed fixity;
* :mod:`~chalicelib.ingest.bags.tag_files`: strict parsers for bagit.txt and the manifests;
* :mod:`~chalicelib.ingest.bags.bag_info`: bag-info.txt, Payload-Oxum and :class:`BagInfo`;
* :mod:`~chalicelib.ingest.bags.paths`: path rules and manifest path encoding;
* :mod:`~chalicelib.ingest.bags.limits` and :mod:`~chalicelib.ingest.bags.errors`: the caps
  (:class:`BagLimits`) and the two exceptions.

Everything but ``targets``, ``s3_reader`` and ``registration`` is framework-free and AWS-free:
the caller passes text, listings, byte chunks and local paths.

LoC ``bagit`` 1.9.0 traps, and how this package closes them:

* **Containment by character prefix.** ``Bag._path_is_dangerous`` compares ``realpath`` results
  with ``os.path.commonprefix``, so ``data/../../t3evil/x`` in a bag at ``…/t3`` reads the
  sibling ``…/t3evil`` and the bag validates. The same hole exists for tag manifest entries
  (``../t3evil/y``). We refuse ``..``/``.``/empty components, absolute paths, backslashes and NUL
  in every manifest path (``paths``, ``tag_files``), resolve every entry with ``Path.resolve()`` +
  ``is_relative_to``, ``lstat`` the whole tree and refuse any symlink, special file or hard link
  (``on_disk``).
* **Weak and partial fixity.** Any ``hashlib`` algorithm is accepted, md5-only bags validate, and
  a payload file listed only in ``manifest-md5.txt`` (or only in a *tag* manifest) is checked only
  with that algorithm even when ``manifest-sha256.txt`` exists. We require a sha256 or sha512
  payload manifest that lists every payload file, require all strong manifests to agree (and, for
  BagIt 1.0, every payload manifest), and refuse payload paths in tag manifests (``listing``,
  ``tag_files``).
* **fetch.txt** URLs are only checked for form and nothing is fetched; entries missing from the
  manifest leave the bag valid. We refuse any bag with ``fetch.txt`` (``listing``).
* **fast=True** checks only Payload-Oxum, so a same-size tampered file passes. We always call
  ``validate(fast=False)`` (``on_disk``) and check Payload-Oxum ourselves (``listing``).
* **File-name round trip** (upstream #143, #157): manifest lines are ``strip()``-ped (trailing
  whitespace lost), split with ``str.splitlines`` (U+2028, U+0085, FF, VT… end a line), ``%25``
  is never decoded and ``%0A``/``%0D`` are decoded case-sensitively and at most twice
  (``re.IGNORECASE`` is passed as ``count``); a leading ``*`` is dropped and ``os.path.normpath``
  folds ``data/x/../a``. Our parser follows RFC 8493 (``%0A``, ``%0D``, ``%25`` only; CR, LF or
  CRLF line ends; ``tag_files``); before calling bagit we replay bagit's reading of each manifest
  (``paths.bagit_manifest_view``) and refuse, with a clear reason, any entry it would misread
  instead of reporting a false "incomplete" (``on_disk``).
* **Errors outside BagError.** A ``Payload-Oxum`` without a dot or a blank ``fetch.txt`` line
  raises ``ValueError``; a ``manifest-shake_128.txt`` raises ``TypeError``; malformed manifest
  lines and ``#`` lines are skipped silently; unknown manifest names (``manifest-SHA256.txt``,
  ``manifest-blake3.txt``) are ignored; any ``BagIt-Version`` from 0.93 to 1.x and any codec
  name are accepted. We parse every tag file strictly first (``tag_files``, ``bag_info``) and
  translate any exception from bagit into a refusal (``on_disk``).
* **Symlinked tag files are read.** A ``bag-info.txt`` symlinked to a file outside the bag is
  opened by ``Bag()`` and its first malformed line is echoed in the error message (think
  ``/proc/self/environ`` in a Lambda). The ``lstat`` walk refuses it before bagit runs (``on_disk``).
* **No archive handling.** bagit never opens zip or tar. Our extraction (``serialized``) inspects
  every member first (names, types, counts, declared sizes, compression ratio, overlapping zip
  entries, encryption), then streams each member with a byte budget that counts what is written.
"""
