import Foundation
import Imaging

/// A mask PNG (or JPEG) as the commands read it: any channel count, a pixel is inside when its first
/// channel is above 127.
struct BinaryMaskFile {
    let mask: [Bool], width: Int, height: Int

    init(_ path: String) throws {
        let image = try ImageIO.read(URL(fileURLWithPath: path))
        (width, height) = (image.width, image.height)
        mask = image.binaryMask
    }
}
