#include "circnn/version.h"

const char *circnn_version(void)
{
    return CIRCNN_VERSION_STRING;
}
