// Builders killed at random moments: every acknowledged commit survives, nothing half done is
// visible.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <set>

#include "attack.h"
#include "vstore/format/error.h"

namespace attack {
namespace {

void report_line(int fd, const std::string& line) {
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
        ::_exit(3);
}

// Builds a chain of commits until killed, reporting "commit\tfingerprint\n" after each returns.
[[noreturn]] void build_forever(const std::string& dir, int fd, uint64_t seed) {
    try {
        auto store = vstore::Store::open(dir);
        std::mt19937_64 rng(seed);
        for (uint64_t n = 0;; ++n) {
            std::optional<std::string> parent;
            uint64_t newest = 0;
            for (const auto& c : store->commits(kDomain)) {
                if (!parent || c.created_unix_ms >= newest) {
                    parent = c.commit;
                    newest = c.created_unix_ms;
                }
            }
            std::string name = "s";
            name += std::to_string(seed);
            name += '-';
            name += std::to_string(n);
            if (parent && rng() % 4 == 0) {
                store->assign(kDomain, *parent, name);
            } else {
                auto b = store->begin_commit(kDomain, name, parent);
                std::vector<std::string> live;
                if (parent)
                    live = store->open_commit(kDomain, *parent)->ids();
                std::shuffle(live.begin(), live.end(), rng);
                const size_t deletes = std::min<size_t>(live.size(), rng() % 30);
                for (size_t i = 0; i < deletes; ++i)
                    b.remove(live[i]);
                const size_t inserts = 20 + rng() % 60;
                const auto data = random_vectors(inserts, rng());
                for (size_t i = 0; i < inserts; ++i) {
                    std::string id = name;
                    id += '/';
                    id += std::to_string(i);
                    b.insert(id, {data.data() + i * kDim, kDim});
                }
                b.finish();
            }
            report_line(fd, name + "\t" + fingerprint(*store->open_commit(kDomain, name)) + "\n");
        }
    } catch (...) {
        ::_exit(2);
    }
}

void note(KillFigures& f, const std::string& what) {
    if (f.failures.size() < 10)
        f.failures.push_back(what);
}

}  // namespace

KillFigures kill_campaign(const std::filesystem::path& work, uint64_t kills, uint64_t per_epoch,
                          std::mt19937_64& rng) {
    KillFigures f;
    const std::string dir = (work / "kill-store").string();
    std::map<std::string, std::string> acknowledged;  // of the epoch
    std::set<std::string> whole;                      // visible commits found whole
    for (uint64_t k = 0; k < kills; ++k) {
        if (k % per_epoch == 0) {
            std::filesystem::remove_all(dir);
            auto store = vstore::Store::create(dir);
            store->create_domain(kDomain, {kDim});
            acknowledged.clear();
            whole.clear();
        }
        int fds[2];
        if (::pipe(fds) != 0)
            throw std::runtime_error("pipe failed");
        const pid_t child = ::fork();
        if (child < 0)
            throw std::runtime_error("fork failed");
        if (child == 0) {
            ::close(fds[0]);
            build_forever(dir, fds[1], rng());
        }
        ::close(fds[1]);
        std::string text;
        char buf[65536];
        ssize_t n;
        // Every third kill waits for a commit first, so that kills also land late in long
        // chains whatever the speed of the build.
        if (k % 3 == 0) {
            while (text.find('\n') == std::string::npos &&
                   (n = ::read(fds[0], buf, sizeof buf)) > 0) {
                text.append(buf, static_cast<size_t>(n));
            }
        }
        ::usleep(static_cast<useconds_t>(1000 + rng() % 80000));
        ::kill(child, SIGKILL);
        while ((n = ::read(fds[0], buf, sizeof buf)) > 0)
            text.append(buf, static_cast<size_t>(n));
        ::close(fds[0]);
        int status = 0;
        ::waitpid(child, &status, 0);
        ++f.kills;
        if (!WIFSIGNALED(status))
            note(f, "kill " + std::to_string(k) + ": the builder had stopped before the kill");
        std::map<std::string, std::string> fresh;
        for (size_t pos = 0; pos < text.size();) {
            const size_t tab = text.find('\t', pos), end = text.find('\n', pos);
            if (end == std::string::npos)
                break;  // a line the kill cut short: not acknowledged
            fresh[text.substr(pos, tab - pos)] = text.substr(tab + 1, end - tab - 1);
            pos = end + 1;
        }
        f.acknowledged += fresh.size();
        acknowledged.insert(fresh.begin(), fresh.end());
        const bool epoch_end = (k + 1) % per_epoch == 0 || k + 1 == kills;
        try {
            auto store = vstore::Store::open(dir);
            std::map<std::string, vstore::CommitInfo> visible;
            for (const auto& c : store->commits(kDomain))
                visible[c.commit] = c;
            for (const auto& [name, print] : epoch_end ? acknowledged : fresh) {
                ++f.checked;
                if (!visible.count(name)) {
                    ++f.lost;
                    note(f, "acknowledged commit '" + name + "' is gone");
                } else if (fingerprint(*store->open_commit(kDomain, name)) != print) {
                    ++f.changed;
                    note(f, "acknowledged commit '" + name + "' answers differently");
                }
            }
            for (const auto& [name, c] : visible) {
                if (whole.count(name))
                    continue;
                try {
                    store->verify_graph(kDomain, name);
                    const auto s = store->open_commit(kDomain, name);
                    if (s->size() != c.live_count || s->check_graph().unreachable_live != 0)
                        throw std::runtime_error("its graph does not match its record");
                    whole.insert(name);
                } catch (const std::exception& e) {
                    ++f.half_visible;
                    note(f, "visible commit '" + name + "' is not whole: " + e.what());
                }
            }
        } catch (const vstore::Error& e) {
            ++f.unopenable;
            note(f, "after kill " + std::to_string(k) + " the store does not open: " + e.what());
        }
    }
    return f;
}

}  // namespace attack
