module periscope.test/testdata

go 1.22
