# C-level entry points of _ids, cimported by _push.
cdef str c_uuid7()
cdef bint c_is_uuid(object s) noexcept
