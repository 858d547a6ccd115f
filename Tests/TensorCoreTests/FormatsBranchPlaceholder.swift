// Keeps the TensorCoreTests target buildable on the `formats` branch, where its tests do not exist yet.
// Safe to delete once the real TensorCore tests are merged.
import XCTest
