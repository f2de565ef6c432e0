# CN_REQUIRE(VARIABLE, MODULES, DEBIAN-PACKAGES)
# PKG_CHECK_MODULES, but a missing library stops configure with the
# Debian package that provides it, so an operator knows what to install.
AC_DEFUN([CN_REQUIRE], [
  PKG_CHECK_MODULES([$1], [$2], [],
    [AC_MSG_ERROR([$2 not found: $$1_PKG_ERRORS
On Debian: apt-get install $3])])
])
