#include "cgdcm.h"

#include <gdcmAttribute.h>
#include <gdcmImageReader.h>
#include <gdcmTrace.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <vector>

namespace {

int fail(char *err, size_t errlen, int code, const char *message) {
    if (err && errlen) std::snprintf(err, errlen, "%s", message);
    return code;
}

template <typename T> void convert(const char *src, size_t n, float *dst) {
    for (size_t i = 0; i < n; i++) {
        T v;
        std::memcpy(&v, src + i * sizeof(T), sizeof(T));
        dst[i] = static_cast<float>(v);
    }
}

/* True when the data set holds a non-empty element `tag`. */
bool present(const gdcm::DataSet &ds, const gdcm::Tag &tag) {
    return ds.FindDataElement(tag) && !ds.GetDataElement(tag).IsEmpty();
}

/* Copies the `n` numbers of the multi-valued DS element (group, element) into `dst`; 1 when present with n values. */
template <uint16_t Group, uint16_t Element> int values(const gdcm::DataSet &ds, double *dst, unsigned n) {
    gdcm::Attribute<Group, Element> a;
    if (!present(ds, a.GetTag())) return 0;
    a.SetFromDataSet(ds);
    if (a.GetNumberOfValues() != n) return 0;
    for (unsigned i = 0; i < n; i++) dst[i] = a[i];
    return 1;
}

int read_slice(const char *path, cgdcm_slice *out, char *err, size_t errlen) {
    std::FILE *probe = std::fopen(path, "rb");
    if (!probe) return fail(err, errlen, 1, "cannot open the file");
    std::fclose(probe);

    gdcm::Trace::SetWarning(false);
    gdcm::Trace::SetDebug(false);
    gdcm::Trace::SetError(false);

    gdcm::ImageReader reader;
    reader.SetFileName(path);
    if (!reader.Read()) return fail(err, errlen, 2, "not a DICOM file with an image (GDCM could not read it)");
    const gdcm::Image &image = reader.GetImage();
    const gdcm::DataSet &ds = reader.GetFile().GetDataSet();

    const unsigned int *dims = image.GetDimensions();
    if (image.GetNumberOfDimensions() == 3 && dims[2] > 1) {
        char m[128];
        std::snprintf(m, sizeof m, "a multi-frame image (%u frames); expected one slice per file", dims[2]);
        return fail(err, errlen, 4, m);
    }
    const gdcm::PixelFormat &pf = image.GetPixelFormat();
    if (pf.GetSamplesPerPixel() != 1) {
        char m[128];
        std::snprintf(m, sizeof m, "a colour image (%u samples per pixel); expected grey-scale", pf.GetSamplesPerPixel());
        return fail(err, errlen, 4, m);
    }
    if (image.GetPhotometricInterpretation() == gdcm::PhotometricInterpretation::MONOCHROME1)
        return fail(err, errlen, 4, "photometric interpretation MONOCHROME1 is not supported (expected MONOCHROME2)");

    const size_t n = static_cast<size_t>(dims[0]) * dims[1];
    std::vector<char> buffer;
    try { buffer.resize(image.GetBufferLength()); } catch (const std::bad_alloc &) {
        return fail(err, errlen, 5, "out of memory for the pixel data");
    }
    if (buffer.empty() || !image.GetBuffer(buffer.data()))
        return fail(err, errlen, 3, "the pixel data could not be decoded");

    size_t bytes = 0;
    switch (pf.GetScalarType()) {
    case gdcm::PixelFormat::UINT8: case gdcm::PixelFormat::INT8: bytes = 1; break;
    case gdcm::PixelFormat::UINT16: case gdcm::PixelFormat::INT16: bytes = 2; break;
    case gdcm::PixelFormat::UINT32: case gdcm::PixelFormat::INT32: case gdcm::PixelFormat::FLOAT32: bytes = 4; break;
    case gdcm::PixelFormat::FLOAT64: bytes = 8; break;
    default: break;
    }
    if (bytes == 0) {
        char m[128];
        std::snprintf(m, sizeof m, "unsupported pixel type %s", pf.GetScalarTypeAsString());
        return fail(err, errlen, 4, m);
    }
    if (buffer.size() < n * bytes) {
        char m[160];
        std::snprintf(m, sizeof m, "the decoded pixel data holds %zu bytes, expected %zu", buffer.size(), n * bytes);
        return fail(err, errlen, 3, m);
    }

    float *data = static_cast<float *>(std::malloc(n * sizeof(float)));
    if (!data) return fail(err, errlen, 5, "out of memory for the pixel data");
    const char *src = buffer.data();
    switch (pf.GetScalarType()) {
    case gdcm::PixelFormat::UINT8: convert<uint8_t>(src, n, data); break;
    case gdcm::PixelFormat::INT8: convert<int8_t>(src, n, data); break;
    case gdcm::PixelFormat::UINT16: convert<uint16_t>(src, n, data); break;
    case gdcm::PixelFormat::INT16: convert<int16_t>(src, n, data); break;
    case gdcm::PixelFormat::UINT32: convert<uint32_t>(src, n, data); break;
    case gdcm::PixelFormat::INT32: convert<int32_t>(src, n, data); break;
    case gdcm::PixelFormat::FLOAT32: convert<float>(src, n, data); break;
    default: convert<double>(src, n, data); break;
    }

    std::memset(out, 0, sizeof *out);
    out->width = static_cast<int>(dims[0]);
    out->height = static_cast<int>(dims[1]);
    out->data = data;
    out->slope = 1;
    out->intercept = 0;

    out->has_position = values<0x0020, 0x0032>(ds, out->position, 3);
    out->has_orientation = values<0x0020, 0x0037>(ds, out->orientation, 6);
    out->has_spacing = values<0x0028, 0x0030>(ds, out->pixel_spacing, 2);
    gdcm::Attribute<0x0018, 0x0050> thickness;
    if (present(ds, thickness.GetTag())) { thickness.SetFromDataSet(ds); out->slice_thickness = thickness.GetValue(); }
    gdcm::Attribute<0x0028, 0x1053> slope;
    if (present(ds, slope.GetTag())) { slope.SetFromDataSet(ds); out->slope = slope.GetValue(); }
    gdcm::Attribute<0x0028, 0x1052> intercept;
    if (present(ds, intercept.GetTag())) { intercept.SetFromDataSet(ds); out->intercept = intercept.GetValue(); }
    return 0;
}

}  // namespace

extern "C" int cgdcm_read(const char *path, cgdcm_slice *out, char *err, size_t errlen) {
    if (!out) return fail(err, errlen, 1, "no output");
    std::memset(out, 0, sizeof *out);
    try {
        int rc = read_slice(path, out, err, errlen);
        if (rc != 0) cgdcm_free(out);
        return rc;
    } catch (const std::bad_alloc &) {
        cgdcm_free(out);
        return fail(err, errlen, 5, "out of memory");
    } catch (const std::exception &e) {
        cgdcm_free(out);
        char m[256];
        std::snprintf(m, sizeof m, "GDCM failed: %s", e.what());
        return fail(err, errlen, 3, m);
    } catch (...) {
        cgdcm_free(out);
        return fail(err, errlen, 3, "GDCM failed");
    }
}

extern "C" void cgdcm_free(cgdcm_slice *s) {
    if (!s) return;
    std::free(s->data);
    s->data = nullptr;
}
