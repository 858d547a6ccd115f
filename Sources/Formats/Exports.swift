/// Atomic file writing is part of the Formats API (it lives in FileIO so that Imaging can share it).
@_exported import FileIO
