# Turn a text file into a C array so the binary carries it (usage: -DIN= -DOUT=).
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
file(WRITE ${OUT} "/* generated from ${IN} */\n#include <stddef.h>\nconst char faultwire_prelude[] = {${body} 0};\nconst size_t faultwire_prelude_len = sizeof faultwire_prelude - 1;\n")
