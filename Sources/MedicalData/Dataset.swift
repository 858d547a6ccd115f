import Diagnostics
import Foundation

/// One patient's image and label volumes.
public struct DatasetCase: Sendable, Equatable {
    /// The patient id used for folds (several cases may share one patient).
    public let patient: String
    public let image: URL
    public let labels: URL

    public init(patient: String, image: URL, labels: URL) {
        self.patient = patient
        self.image = image
        self.labels = labels
    }
}

/// A list of (image, label) volume pairs with a label-map convention.
public struct Dataset: Sendable {
    public let cases: [DatasetCase]
    public let labelMap: LabelMap

    public init(cases: [DatasetCase], labelMap: LabelMap) {
        self.cases = cases
        self.labelMap = labelMap
    }

    /// The cases of a folder holding `images/` and `labels/` (or nnU-Net's `imagesTr/` and `labelsTr/`)
    /// with the same file names (an nnU-Net `_0000` channel suffix on images is ignored). The patient id
    /// is the file name without `.nii`/`.nii.gz`.
    public static func folder(_ url: URL, labelMap: LabelMap) throws -> Dataset {
        let fm = FileManager.default
        let pairs = [("images", "labels"), ("imagesTr", "labelsTr")]
        guard let (imgDir, labDir) = pairs.first(where: { fm.fileExists(atPath: url.appendingPathComponent($0.0).path) }) else {
            throw ToolkitError(.invalidManifest, subject: url.path, "expected subfolders images/ and labels/ (or imagesTr/ and labelsTr/)")
        }
        let images = try fm.contentsOfDirectory(atPath: url.appendingPathComponent(imgDir).path)
            .filter { $0.hasSuffix(".nii") || $0.hasSuffix(".nii.gz") }.sorted()
        var cases: [DatasetCase] = []
        for name in images {
            let stem = stemOf(name)
            let ext = name.hasSuffix(".nii.gz") ? ".nii.gz" : ".nii"
            let base = stem.hasSuffix("_0000") ? String(stem.dropLast(5)) : stem
            let label = url.appendingPathComponent(labDir).appendingPathComponent(base + ext)
            guard fm.fileExists(atPath: label.path) else {
                throw ToolkitError(.invalidManifest, subject: label.path, "no label map for image \(name)")
            }
            cases.append(DatasetCase(patient: base, image: url.appendingPathComponent(imgDir).appendingPathComponent(name), labels: label))
        }
        guard !cases.isEmpty else { throw ToolkitError(.invalidManifest, subject: url.path, "no .nii/.nii.gz images found in \(imgDir)/") }
        return Dataset(cases: cases, labelMap: labelMap)
    }

    /// The cases of a manifest, paths relative to the manifest's folder:
    /// JSON `[{"image": "...", "label": "...", "patient": "..."}]` (or `{"cases": [...]}`), or
    /// CSV with a header `image,label[,patient]`. Without a patient, the image's file stem is used.
    public static func manifest(_ url: URL, labelMap: LabelMap) throws -> Dataset {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ToolkitError(.missingFile, subject: url.path, "cannot read the manifest")
        }
        let dir = url.deletingLastPathComponent()
        var rows: [[String: String]] = []
        if url.pathExtension.lowercased() == "json" {
            let json = try? JSONSerialization.jsonObject(with: data)
            let list = (json as? [[String: Any]]) ?? ((json as? [String: Any])?["cases"] as? [[String: Any]])
            guard let list else {
                throw ToolkitError(.invalidManifest, subject: url.path, "expected a JSON list of {image, label, patient} objects")
            }
            rows = list.map { $0.compactMapValues { $0 as? String } }
        } else {
            guard let text = String(data: data, encoding: .utf8) else {
                throw ToolkitError(.invalidManifest, subject: url.path, "not UTF-8 text")
            }
            let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard let header = lines.first?.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) else {
                throw ToolkitError(.invalidManifest, subject: url.path, "empty CSV manifest")
            }
            for (n, line) in lines.dropFirst().enumerated() {
                let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                guard fields.count == header.count else {
                    throw ToolkitError(.invalidManifest, subject: url.path, "line \(n + 2): expected \(header.count) fields, found \(fields.count)")
                }
                rows.append(Dictionary(uniqueKeysWithValues: zip(header, fields)))
            }
        }
        var cases: [DatasetCase] = []
        for (n, row) in rows.enumerated() {
            guard let image = row["image"], let label = row["label"] ?? row["labels"] else {
                throw ToolkitError(.invalidManifest, subject: url.path, "entry \(n + 1): needs 'image' and 'label'")
            }
            let imageURL = image.hasPrefix("/") ? URL(fileURLWithPath: image) : dir.appendingPathComponent(image)
            let labelURL = label.hasPrefix("/") ? URL(fileURLWithPath: label) : dir.appendingPathComponent(label)
            cases.append(DatasetCase(patient: row["patient"] ?? stemOf(imageURL.lastPathComponent), image: imageURL, labels: labelURL))
        }
        return Dataset(cases: cases, labelMap: labelMap)
    }

    /// Loads a case's image and label volumes (the label map checked against the image's grid).
    public func load(_ c: DatasetCase) throws -> (image: Volume, labels: LabelVolume) {
        let image = try VolumeReader.read(c.image)
        return (image, try NIfTIReader.readLabels(c.labels, matching: image))
    }

    static func stemOf(_ name: String) -> String {
        if name.hasSuffix(".nii.gz") { return String(name.dropLast(7)) }
        if name.hasSuffix(".nii") { return String(name.dropLast(4)) }
        return (name as NSString).deletingPathExtension
    }
}
