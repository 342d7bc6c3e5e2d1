// Uses only the installed public headers: writes vectors, reads them back in both modes.
#include <vstore/vector_file.h>

#include <cstdio>
#include <filesystem>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 2)
        return 2;
    const std::string path = std::string(argv[1]) + "/consumer.vecs";
    std::filesystem::remove(path);
    vstore::VectorFileOptions options;
    options.writable = true;
    auto file = vstore::VectorFile::create(path, "consumer/demo", 3, options);
    std::vector<float> values = {1, 2, 3, 4, 5, 6};
    file->append(values);
    for (auto mode : {vstore::ServingMode::kMapped, vstore::ServingMode::kPool}) {
        vstore::VectorFileOptions read;
        read.mode = mode;
        auto reader = vstore::VectorFile::open(path, read);
        const vstore::LoadedVec v = reader->get(1);
        if (reader->size() != 2 || v.data()[0] != 4 || v.data()[2] != 6)
            return 1;
    }
    try {
        file->get(2);
        return 1;
    } catch (const vstore::Error& e) {
        std::printf("expected error: %s\n", e.what());
    }
    std::printf("consumer ok\n");
    return 0;
}
