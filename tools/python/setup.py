"""pip install of the vstore Python module from a checkout, offline, with Debian's setuptools:

    python3 -m pip install --no-build-isolation tools/python

builds the library and the module with the project's own CMake build (in build/ under this
directory; CMAKE_BUILD_PARALLEL_LEVEL sets the jobs) and ships libvstore.so.0 inside the
package, beside the module that loads it."""

import pathlib
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VERSION = re.search(r"project\(vstore VERSION ([0-9.]+)",
                    (ROOT / "CMakeLists.txt").read_text()).group(1)


class CMakeBuild(build_ext):
    """Builds the extension with CMake instead of compiling its sources itself."""

    def build_extension(self, ext):
        build_dir = pathlib.Path(self.build_temp).resolve() / "cmake"
        configure = ["cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                     "-DVSTORE_BUILD_TESTS=OFF", "-DVSTORE_PYTHON_WHEEL=ON",
                     f"-DPython3_EXECUTABLE={sys.executable}"]
        if shutil.which("ccache"):
            configure.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
        subprocess.run(configure, check=True)
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "vstore-python"],
                       check=True)
        module = pathlib.Path(self.get_ext_fullpath(ext.name))
        module.parent.mkdir(parents=True, exist_ok=True)
        built = next((build_dir / "tools" / "python" / "vstore").glob("_vstore*.so"))
        shutil.copyfile(built, module)
        # The soname the module asks for; copyfile follows the symlink to the library itself.
        shutil.copyfile(build_dir / "libvstore.so.0", module.parent / "libvstore.so.0")


setup(
    name="vstore",
    version=VERSION,
    description="A versioned, embedded vector store: numpy in and out",
    packages=["vstore"],
    package_data={"vstore": ["__init__.pyi", "py.typed"]},
    ext_modules=[Extension("vstore._vstore", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    python_requires=">=3.9",
    install_requires=["numpy"],
    zip_safe=False,
)
