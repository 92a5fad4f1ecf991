/// The text fields of a `multipart/form-data` body (what a browser's `FormData` sends).
enum MultipartFormData {
    static func boundary(contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "boundary" else { continue }
            let value = pair[1].trimmingCharacters(in: .whitespaces)
            let unquoted = value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2
                ? String(value.dropFirst().dropLast()) : value
            return unquoted.isEmpty ? nil : unquoted
        }
        return nil
    }

    /// nil when the body is not well-formed multipart.
    static func fields(body: [UInt8], boundary: String) -> [String: String]? {
        let delimiter = Array("--\(boundary)".utf8)
        var parts = split(body, by: delimiter)
        guard parts.count >= 2 else { return nil }
        parts.removeFirst()  // preamble
        var fields: [String: String] = [:]
        for part in parts {
            if part.starts(with: Array("--".utf8)) { break }  // closing delimiter
            guard let headerEnd = firstIndex(of: Array("\r\n\r\n".utf8), in: part) else { return nil }
            let headers = String(decoding: part[..<headerEnd], as: UTF8.self)
            var value = part[(headerEnd + 4)...]
            if value.suffix(2).elementsEqual(Array("\r\n".utf8)) { value = value.dropLast(2) }
            guard let name = fieldName(headers) else { return nil }
            fields[name] = String(decoding: value, as: UTF8.self)
        }
        return fields
    }

    private static func fieldName(_ headers: String) -> String? {
        for line in headers.split(separator: "\r\n") where line.lowercased().hasPrefix("content-disposition:") {
            guard let range = line.range(of: "name=\"") else { return nil }
            let rest = line[range.upperBound...]
            guard let end = rest.firstIndex(of: "\"") else { return nil }
            return String(rest[..<end])
        }
        return nil
    }

    private static func split(_ bytes: [UInt8], by delimiter: [UInt8]) -> [ArraySlice<UInt8>] {
        var parts: [ArraySlice<UInt8>] = []
        var start = 0
        var index = 0
        while index + delimiter.count <= bytes.count {
            if bytes[index] == delimiter[0], bytes[index..<(index + delimiter.count)].elementsEqual(delimiter) {
                parts.append(bytes[start..<index])
                index += delimiter.count
                start = index
            } else {
                index += 1
            }
        }
        parts.append(bytes[start...])
        return parts
    }

    private static func firstIndex(of needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Int? {
        var index = haystack.startIndex
        while index + needle.count <= haystack.endIndex {
            if haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
