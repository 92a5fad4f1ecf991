import Foundation

/// The one-line-per-frame transcript `chargepile sim` prints: `pile 3 <- {"type":"welcome",…}`.
public enum PileTranscript {
    public static func line(pileID: Int, direction: PileFrameDirection, text: String) -> String {
        "pile \(pileID) \(direction.arrow) \(text)"
    }

    /// Writes one line to standard output unbuffered, so a reader on a pipe sees every frame at once.
    public static func write(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
