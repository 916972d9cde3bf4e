// glibc's malloc tuning (mallopt) and statistics (mallinfo2), which the Glibc module does not import.
#include <malloc.h>
