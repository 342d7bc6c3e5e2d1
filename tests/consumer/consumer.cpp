// An example that uses only the installed public headers: a store with one domain, two
// commits, and a search of each.
#include <vstore/store.h>

#include <cstdio>
#include <filesystem>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 2)
        return 2;
    const std::string dir = std::string(argv[1]) + "/example-store";
    std::filesystem::remove_all(dir);

    auto store = vstore::Store::create(dir);
    store->create_domain("admin/star_wars", {.dimension = 3, .metric = vstore::Metric::kL2});

    auto first = store->begin_commit("admin/star_wars", "c1", std::nullopt);
    first.insert("People/1", std::vector<float>{1, 0, 0});
    first.insert("People/2", std::vector<float>{0, 1, 0});
    first.insert("People/3", std::vector<float>{0, 0, 1});
    first.finish();

    auto second = store->begin_commit("admin/star_wars", "c2", "c1");
    second.remove("People/1");
    second.replace("People/2", std::vector<float>{0.9f, 0.1f, 0});
    second.finish();

    const std::vector<float> query = {1, 0, 0};
    for (const char* commit : {"c1", "c2"}) {
        std::printf("%s:", commit);
        for (const auto& hit : store->open_commit("admin/star_wars", commit)->search(query, 2)) {
            std::printf(" %s (%.3f)", hit.id.c_str(), hit.distance);
        }
        std::printf("\n");
    }
    const auto c1 = store->open_commit("admin/star_wars", "c1")->search(query, 1);
    const auto c2 = store->open_commit("admin/star_wars", "c2")->search(query, 1);
    if (c1.at(0).id != "People/1" || c2.at(0).id != "People/2")
        return 1;
    try {
        store->open_commit("admin/star_wars", "c3");
        return 1;
    } catch (const vstore::Error& e) {
        std::printf("expected error: %s\n", e.what());
    }
    std::printf("consumer ok\n");
    return 0;
}
