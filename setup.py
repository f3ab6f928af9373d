"""Install the SinGAN toolkit and GAN zoo: ``pip install -e .`` (add ``[dev]`` for the tests)."""

from pathlib import Path

from setuptools import find_packages, setup

version = {}
exec((Path(__file__).parent / "ganbase" / "__init__.py").read_text().split('"""', 2)[2], version)

setup(
    name="singan-kit",
    version=version["__version__"],
    description="SinGAN and a classic GAN model zoo for modern PyTorch, on CPU and GPU",
    long_description=(Path(__file__).parent / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=find_packages(include=["ganbase", "ganbase.*", "singan_kit", "singan_kit.*", "cli", "cli.*"]),
    install_requires=[
        "torch>=2.1",
        "numpy>=1.23",
        "scikit-image>=0.21",
        "imageio>=2.28",
        "click>=8.1",
        "tqdm>=4.64",
        "safetensors>=0.4",
        "matplotlib>=3.6",
    ],
    extras_require={"dev": ["pytest>=7"]},
    entry_points={
        "console_scripts": [
            "singan=cli.singan:main",
            "ganzoo=cli.ganzoo:main",
        ]
    },
)
