// The power-cut model of power_cut.h and the libc calls it interposes. Each interposed call
// passes straight to libc unless the model is armed; while it is, calls run one at a time under
// one mutex, which a cut keeps, so that no other thread touches a file while the armed
// directory is rewritten.
#include "power_cut.h"

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace vstore::test::power_cut {
namespace {

// A file or directory as the model knows it: one per inode while the inode lives. Durable
// directory listings hold these, so a name keeps the bytes of the file it named even when
// that file's inode is freed and reused.
struct Write {
    uint64_t offset = 0;
    std::vector<uint8_t> bytes;
};

struct Node {
    bool dir = false;
    std::vector<uint8_t> bytes;                           // a file's durable bytes
    std::vector<Write> unsynced;                          // a file's writes since, in order
    std::map<std::string, std::shared_ptr<Node>> entries;  // a directory's durable entries
};

using InodeKey = std::pair<dev_t, ino_t>;

struct Model {
    std::mutex mutex;
    std::atomic<bool> armed{false};
    std::string root;  // no trailing '/'
    std::shared_ptr<Node> root_node;
    std::map<InodeKey, std::shared_ptr<Node>> live;
    long cut_at = -1;
    long points = 0;
    Unsynced unsynced = Unsynced::kNone;
};

Model& model() {
    static Model* m = new Model;  // never destroyed: interposed calls may come during exit
    return *m;
}

// The thread that is rewriting the armed directory: its own file calls go straight to libc.
thread_local bool t_cutting = false;

template <typename Fn>
Fn real(const char* name) {
    void* sym = ::dlsym(RTLD_NEXT, name);
    if (sym == nullptr) {
        ::fprintf(stderr, "power_cut: no libc function %s\n", name);
        ::abort();
    }
    return reinterpret_cast<Fn>(sym);
}

#define REAL(name) (*[] {                                    \
    static const auto fn = vstore::test::power_cut::real<decltype(&::name)>(#name); \
    return fn;                                              \
}())

[[noreturn]] void fail(const std::string& what) {
    ::fprintf(stderr, "power_cut: %s\n", what.c_str());
    ::abort();
}

bool under_root(const Model& m, const std::string& path) {
    return path == m.root || path.compare(0, m.root.size() + 1, m.root + "/") == 0;
}

// The path an open descriptor names now, or "" for one whose file was unlinked.
std::string path_of(int fd) {
    char link[64], target[4096];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    const ssize_t n = ::readlink(link, target, sizeof target - 1);
    if (n <= 0)
        return {};
    std::string path(target, static_cast<size_t>(n));
    if (path.size() >= 10 && path.compare(path.size() - 10, 10, " (deleted)") == 0)
        return {};
    return path;
}

std::shared_ptr<Node> node_for(Model& m, const struct stat& st) {
    auto& node = m.live[{st.st_dev, st.st_ino}];
    if (!node) {
        node = std::make_shared<Node>();
        node->dir = S_ISDIR(st.st_mode);
    }
    return node;
}

std::vector<uint8_t> read_all(const std::string& path) {
    std::vector<uint8_t> bytes;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail("cannot read " + path);
    uint8_t buf[1 << 16];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0)
        bytes.insert(bytes.end(), buf, buf + n);
    ::close(fd);
    return bytes;
}

// The directory's present entries, as nodes; a subdirectory's own entries are not touched.
std::map<std::string, std::shared_ptr<Node>> list(Model& m, const std::string& dir) {
    std::map<std::string, std::shared_ptr<Node>> entries;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr)
        fail("cannot list " + dir);
    while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name == "." || name == "..")
            continue;
        struct stat st;
        if (::lstat((dir + "/" + name).c_str(), &st) != 0)
            continue;
        if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
            entries[name] = node_for(m, st);
    }
    ::closedir(d);
    return entries;
}

// Takes everything under `dir` as durable, as it is now.
void take_as_durable(Model& m, const std::string& dir, Node& node) {
    node.entries = list(m, dir);
    for (auto& [name, child] : node.entries) {
        const std::string path = dir + "/" + name;
        if (child->dir)
            take_as_durable(m, path, *child);
        else
            child->bytes = read_all(path);
    }
}

void apply_write(std::vector<uint8_t>& bytes, const Write& w) {
    if (bytes.size() < w.offset + w.bytes.size())
        bytes.resize(w.offset + w.bytes.size());
    std::copy(w.bytes.begin(), w.bytes.end(), bytes.begin() + static_cast<ptrdiff_t>(w.offset));
}

// A file's bytes after the cut: its durable bytes and what `mode` keeps of its later writes.
std::vector<uint8_t> bytes_after_cut(const Node& file, Unsynced mode) {
    std::vector<uint8_t> bytes = file.bytes;
    if (mode == Unsynced::kAll) {
        for (const auto& w : file.unsynced)
            apply_write(bytes, w);
    } else if (mode == Unsynced::kNewestOnly && !file.unsynced.empty()) {
        apply_write(bytes, file.unsynced.back());
    }
    return bytes;
}

void write_durable(const std::string& dir, const Node& node, Unsynced mode) {
    for (const auto& [name, child] : node.entries) {
        const std::string path = dir + "/" + name;
        if (child->dir) {
            if (::mkdir(path.c_str(), 0755) != 0)
                fail("cannot create " + path);
            write_durable(path, *child, mode);
            continue;
        }
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
            fail("cannot create " + path);
        const auto bytes = bytes_after_cut(*child, mode);
        size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
            if (n <= 0)
                fail("cannot write " + path);
            done += static_cast<size_t>(n);
        }
        ::close(fd);
    }
}

void remove_tree(const std::string& dir) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr)
        fail("cannot list " + dir);
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name != "." && name != "..")
            names.push_back(name);
    }
    ::closedir(d);
    for (const auto& name : names) {
        const std::string path = dir + "/" + name;
        struct stat st;
        if (::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
            remove_tree(path);
            if (::rmdir(path.c_str()) != 0)
                fail("cannot remove " + path);
        } else if (::unlink(path.c_str()) != 0) {
            fail("cannot remove " + path);
        }
    }
}

// Called with the mutex held, which the cut never gives back.
[[noreturn]] void cut_locked(Model& m) {
    t_cutting = true;
    remove_tree(m.root);
    write_durable(m.root, *m.root_node, m.unsynced);
    ::_exit(kPowerCutExit);
}

// A durability point: the power is cut here when its number comes up.
void point(Model& m) {
    if (m.points++ == m.cut_at)
        cut_locked(m);
}

// fsync or fdatasync of `fd`: its bytes, or a directory's entries, become durable.
void on_sync(int fd) {
    Model& m = model();
    const std::string path = path_of(fd);
    if (!under_root(m, path))
        return;
    point(m);
    struct stat st;
    if (::fstat(fd, &st) != 0)
        return;
    const auto node = node_for(m, st);
    if (node->dir) {
        node->entries = list(m, path);
    } else {
        node->bytes = read_all(path);
        node->unsynced.clear();
    }
}

// A write through `fd` under the armed directory, seen before it happens. With O_DSYNC it is a
// durability point, and durable once it returns; otherwise it joins the file's unsynced writes.
struct WriteHook {
    bool tracked = false, dsync = false;
    std::string path;
    off_t offset = 0;

    // `offset` < 0: at the descriptor's position.
    WriteHook(int fd, off_t at) {
        Model& m = model();
        path = path_of(fd);
        if (!under_root(m, path))
            return;
        const int flags = ::fcntl(fd, F_GETFL);
        if (flags < 0)
            return;
        tracked = true;
        dsync = (flags & O_DSYNC) == O_DSYNC;
        struct stat st;
        if (at >= 0)
            offset = at;
        else if ((flags & O_APPEND) != 0 && ::fstat(fd, &st) == 0)
            offset = st.st_size;
        else
            offset = ::lseek(fd, 0, SEEK_CUR);
        if (dsync)
            point(m);
    }

    // After the write: `written` bytes of `iov` went to the file.
    void done(int fd, const struct iovec* iov, int count, ssize_t written) const {
        if (!tracked || written <= 0)
            return;
        struct stat st;
        if (::fstat(fd, &st) != 0)
            return;
        Write w{static_cast<uint64_t>(offset), {}};
        for (int i = 0; i < count && w.bytes.size() < static_cast<size_t>(written); ++i) {
            const auto* p = static_cast<const uint8_t*>(iov[i].iov_base);
            const size_t n = std::min(iov[i].iov_len, static_cast<size_t>(written) - w.bytes.size());
            w.bytes.insert(w.bytes.end(), p, p + n);
        }
        const auto node = node_for(model(), st);
        if (dsync)
            apply_write(node->bytes, w);
        else
            node->unsynced.push_back(std::move(w));
    }
    void done(int fd, const void* buf, ssize_t written) const {
        const struct iovec one{const_cast<void*>(buf), static_cast<size_t>(std::max<ssize_t>(written, 0))};
        done(fd, &one, 1, written);
    }
};

// Before `path` is unlinked, renamed over or removed: when this frees its inode, the model
// forgets the inode's node, so that a file later given the same inode gets a node of its own.
struct Unlinking {
    InodeKey key{};
    bool frees = false;
    explicit Unlinking(const char* path) {
        struct stat st;
        if (path != nullptr && ::lstat(path, &st) == 0 && (S_ISDIR(st.st_mode) || st.st_nlink == 1)) {
            key = {st.st_dev, st.st_ino};
            frees = true;
        }
    }
    void done(int rc) const {
        if (rc == 0 && frees)
            model().live.erase(key);
    }
};

std::string at_path(int dirfd, const char* path) {
    if (path == nullptr || path[0] == '/' || dirfd == AT_FDCWD)
        return path != nullptr ? path : "";
    return path_of(dirfd) + "/" + path;
}

}  // namespace

const char* unsynced_name(Unsynced mode) {
    switch (mode) {
        case Unsynced::kNone:
            return "no unsynced write kept";
        case Unsynced::kNewestOnly:
            return "the newest unsynced write of each file kept";
        case Unsynced::kAll:
            return "every unsynced write kept";
    }
    return "?";
}

void arm(const std::string& root, long cut_at, Unsynced unsynced) {
    Model& m = model();
    std::lock_guard lock(m.mutex);
    m.root = root;
    while (m.root.size() > 1 && m.root.back() == '/')
        m.root.pop_back();
    m.live.clear();
    struct stat st;
    if (::stat(m.root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        fail("no directory " + m.root);
    m.root_node = node_for(m, st);
    take_as_durable(m, m.root, *m.root_node);
    m.cut_at = cut_at;
    m.points = 0;
    m.unsynced = unsynced;
    m.armed = true;
}

long points_seen() {
    Model& m = model();
    std::lock_guard lock(m.mutex);
    return m.points;
}

void cut() {
    Model& m = model();
    m.mutex.lock();
    if (!m.armed)
        fail("cut before arm");
    cut_locked(m);
}

}  // namespace vstore::test::power_cut

using vstore::test::power_cut::model;
using vstore::test::power_cut::t_cutting;
namespace pc = vstore::test::power_cut;

// Each interposed call: straight to libc unless armed, else the model's work and the call under
// the model's mutex.
#define PASS_THROUGH_UNLESS_ARMED(call) \
    if (t_cutting || !model().armed)    \
        return call;                    \
    std::lock_guard lock(model().mutex);

extern "C" {

int fsync(int fd) {
    PASS_THROUGH_UNLESS_ARMED(REAL(fsync)(fd));
    pc::on_sync(fd);
    return REAL(fsync)(fd);
}

int fdatasync(int fd) {
    PASS_THROUGH_UNLESS_ARMED(REAL(fdatasync)(fd));
    pc::on_sync(fd);
    return REAL(fdatasync)(fd);
}

ssize_t pwrite(int fd, const void* buf, size_t n, off_t offset) {
    PASS_THROUGH_UNLESS_ARMED(REAL(pwrite)(fd, buf, n, offset));
    const pc::WriteHook hook(fd, offset);
    const ssize_t rc = REAL(pwrite)(fd, buf, n, offset);
    hook.done(fd, buf, rc);
    return rc;
}

ssize_t pwrite64(int fd, const void* buf, size_t n, off_t offset) {
    return pwrite(fd, buf, n, offset);
}

ssize_t write(int fd, const void* buf, size_t n) {
    PASS_THROUGH_UNLESS_ARMED(REAL(write)(fd, buf, n));
    const pc::WriteHook hook(fd, -1);
    const ssize_t rc = REAL(write)(fd, buf, n);
    hook.done(fd, buf, rc);
    return rc;
}

ssize_t writev(int fd, const struct iovec* iov, int count) {
    PASS_THROUGH_UNLESS_ARMED(REAL(writev)(fd, iov, count));
    const pc::WriteHook hook(fd, -1);
    const ssize_t rc = REAL(writev)(fd, iov, count);
    hook.done(fd, iov, count, rc);
    return rc;
}

ssize_t pwritev(int fd, const struct iovec* iov, int count, off_t offset) {
    PASS_THROUGH_UNLESS_ARMED(REAL(pwritev)(fd, iov, count, offset));
    const pc::WriteHook hook(fd, offset);
    const ssize_t rc = REAL(pwritev)(fd, iov, count, offset);
    hook.done(fd, iov, count, rc);
    return rc;
}

int unlink(const char* path) {
    PASS_THROUGH_UNLESS_ARMED(REAL(unlink)(path));
    const pc::Unlinking victim(path);
    const int rc = REAL(unlink)(path);
    victim.done(rc);
    return rc;
}

int rmdir(const char* path) {
    PASS_THROUGH_UNLESS_ARMED(REAL(rmdir)(path));
    const pc::Unlinking victim(path);
    const int rc = REAL(rmdir)(path);
    victim.done(rc);
    return rc;
}

int remove(const char* path) {
    PASS_THROUGH_UNLESS_ARMED(REAL(remove)(path));
    const pc::Unlinking victim(path);
    const int rc = REAL(remove)(path);
    victim.done(rc);
    return rc;
}

int unlinkat(int dirfd, const char* path, int flags) {
    PASS_THROUGH_UNLESS_ARMED(REAL(unlinkat)(dirfd, path, flags));
    const pc::Unlinking victim(pc::at_path(dirfd, path).c_str());
    const int rc = REAL(unlinkat)(dirfd, path, flags);
    victim.done(rc);
    return rc;
}

int rename(const char* from, const char* to) {
    PASS_THROUGH_UNLESS_ARMED(REAL(rename)(from, to));
    const pc::Unlinking victim(to);
    const int rc = REAL(rename)(from, to);
    victim.done(rc);
    return rc;
}

int renameat(int fromfd, const char* from, int tofd, const char* to) {
    PASS_THROUGH_UNLESS_ARMED(REAL(renameat)(fromfd, from, tofd, to));
    const pc::Unlinking victim(pc::at_path(tofd, to).c_str());
    const int rc = REAL(renameat)(fromfd, from, tofd, to);
    victim.done(rc);
    return rc;
}

int renameat2(int fromfd, const char* from, int tofd, const char* to, unsigned flags) {
    PASS_THROUGH_UNLESS_ARMED(REAL(renameat2)(fromfd, from, tofd, to, flags));
    const pc::Unlinking victim(pc::at_path(tofd, to).c_str());
    const int rc = REAL(renameat2)(fromfd, from, tofd, to, flags);
    victim.done(rc);
    return rc;
}

}  // extern "C"
